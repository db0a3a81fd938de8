import { Injectable } from '@nestjs/common';
import type { BotState, BotStatus } from '@garde/contracts';
import { BotRepository } from '../../persistence/index.js';
import { BotStatusReader } from '../bot-status/bot-status.reader.js';

@Injectable()
export class ListBotsUseCase {
  constructor(
    private readonly repository: BotRepository,
    private readonly status: BotStatusReader,
  ) {}

  /** Bots, oldest first, optionally of one state and/or one exchange, each with its position, PnL, open orders and last error (bot:status --all). */
  async execute(query: { state?: BotState | undefined; exchangeId?: string | undefined }): Promise<{ bots: BotStatus[] }> {
    return { bots: await this.status.statusOf(await this.repository.list(query)) };
  }
}
