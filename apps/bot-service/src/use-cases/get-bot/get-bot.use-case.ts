import { Injectable } from '@nestjs/common';
import type { Bot } from '@garde/contracts';
import { BotException } from '../../errors/bot.exception.js';
import { BotRepository, toBot } from '../../persistence/index.js';

@Injectable()
export class GetBotUseCase {
  constructor(private readonly repository: BotRepository) {}

  async execute(query: { botId: string }): Promise<Bot> {
    const row = await this.repository.get(query.botId);
    if (!row) throw new BotException('NOT_FOUND', `no bot with id "${query.botId}"`, { botId: query.botId });
    return toBot(row);
  }
}
