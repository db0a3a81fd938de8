import { Injectable } from '@nestjs/common';
import type { Bot, BotState } from '@garde/contracts';
import { BotRepository, toBot } from '../../persistence/index.js';

@Injectable()
export class ListBotsUseCase {
  constructor(private readonly repository: BotRepository) {}

  /** Bots, oldest first, optionally of one state and/or one exchange. */
  async execute(query: { state?: BotState | undefined; exchangeId?: string | undefined }): Promise<{ bots: Bot[] }> {
    return { bots: (await this.repository.list(query)).map(toBot) };
  }
}
