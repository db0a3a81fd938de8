import { Injectable } from '@nestjs/common';
import type { BotStatus } from '@garde/contracts';
import { BotException } from '../../errors/bot.exception.js';
import { BotRepository } from '../../persistence/index.js';
import { BotStatusReader } from '../bot-status/bot-status.reader.js';

@Injectable()
export class GetBotUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly status: BotStatusReader,
  ) {}

  /** The bot with its position, PnL, open orders and last error (bot:status <id>). */
  async execute(query: { botId: string }): Promise<BotStatus> {
    const row = await this.repository.get(query.botId);
    if (!row) throw new BotException('NOT_FOUND', `no bot with id "${query.botId}"`, { botId: query.botId });
    const [status] = await this.status.statusOf([row]);
    return status!;
  }
}
