import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RiskExposureReportQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { GetExposureReport } from '../use-cases/get-exposure-report/get-exposure-report.use-case.js';

/** The exposure report on the bus (`risk:exposure:report`): contract-checked by the bus, answered by any replica. */
@Injectable()
export class ExposureReportHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly report: GetExposureReport,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve(RiskExposureReportQry, this.bus.topology.queueGroup('risk-service'), (query) => this.report.execute(query));
  }
}
