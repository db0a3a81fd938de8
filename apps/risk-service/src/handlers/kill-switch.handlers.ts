import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { KillSwitchActivateCmd, KillSwitchDeactivateCmd, KillSwitchStatusQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ChangeKillSwitch } from '../use-cases/change-kill-switch/change-kill-switch.use-case.js';
import { GetKillSwitchStatus } from '../use-cases/get-kill-switch-status/get-kill-switch-status.use-case.js';
import { SyncKillSwitchBucket } from '../use-cases/sync-kill-switch-bucket/sync-kill-switch-bucket.use-case.js';

/** The NATS boundary of the kill switch: contract-checked by the bus, one use case per message. */
@Injectable()
export class KillSwitchHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly change: ChangeKillSwitch,
    private readonly status: GetKillSwitchStatus,
    private readonly sync: SyncKillSwitchBucket,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sync.execute();
    const queue = this.bus.topology.queueGroup('risk-service');
    this.bus.serve(KillSwitchActivateCmd, queue, (p, env) => this.change.execute({ scope: p.scope, to: p.state, reason: p.reason }, env));
    this.bus.serve(KillSwitchDeactivateCmd, queue, (p, env) => this.change.execute({ scope: p.scope, to: 'ACTIVE', reason: p.reason }, env));
    this.bus.serve(KillSwitchStatusQry, queue, (p) => this.status.execute(p));
  }
}
