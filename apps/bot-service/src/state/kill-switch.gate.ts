import { Injectable } from '@nestjs/common';
import type { ScopeState } from '@garde/contracts';
import { KillSwitchWatcher } from '@garde/platform';
import { BotException } from '../errors/bot.exception.js';

export interface BotTarget {
  botId: string;
  exchangeId: string;
}

/** What the kill switch allows a bot, from this process's view of the KV bucket. Fail-closed. */
@Injectable()
export class KillSwitchGate {
  constructor(private readonly watcher: KillSwitchWatcher) {}

  /** The HALTED scope covering the bot (the broadest one), or undefined. Throws RISK_STATE_UNKNOWN while the view is not known. */
  haltingScope(target: BotTarget): ScopeState | undefined {
    if (!this.watcher.known) {
      throw new BotException('RISK_STATE_UNKNOWN', 'bot-service has not read the kill-switch state since it (re)connected: refusing until it has');
    }
    const effective = this.watcher.effective(target);
    return effective.state === 'HALTED' ? effective.imposedBy : undefined;
  }

  /** Refuses to let a bot run under a HALTED scope (KILL_SWITCH_ACTIVE, with the scope and its reason). */
  assertMayRun(target: BotTarget, action: string): void {
    const halting = this.haltingScope(target);
    if (halting) {
      throw new BotException('KILL_SWITCH_ACTIVE', `cannot ${action} bot ${target.botId}: kill switch ${halting.scope} is HALTED (${halting.reason})`, {
        scope: halting.scope,
        reason: halting.reason,
      });
    }
  }
}
