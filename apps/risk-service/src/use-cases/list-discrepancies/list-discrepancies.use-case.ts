import { Injectable } from '@nestjs/common';
import type { DiscrepancyList, DiscrepancyQuery } from '@garde/contracts';
import { DiscrepancyRepository } from '../../persistence/discrepancy.repository.js';

/** `portfolio:discrepancies`: the open ones (with `all`, the cleared ones too), most recent first. */
@Injectable()
export class ListDiscrepancies {
  constructor(private readonly repository: DiscrepancyRepository) {}

  async execute(query: DiscrepancyQuery): Promise<DiscrepancyList> {
    return { discrepancies: await this.repository.list({ all: query.all, exchangeId: query.exchangeId }) };
  }
}
