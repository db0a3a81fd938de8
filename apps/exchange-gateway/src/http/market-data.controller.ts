import { Controller, Get, Query } from '@nestjs/common';
import { RequireRole } from '../auth/api-auth.guard.js';
import { MarketData } from '../market-data/market-data.js';

/** Market data as the gateway last read it from the venues, with each ticker's age. */
@Controller('api/v1/market')
export class MarketDataController {
  constructor(private readonly marketData: MarketData) {}

  @Get('tickers')
  @RequireRole('viewer')
  tickers(@Query('exchange') exchangeId?: string, @Query('symbol') symbol?: string) {
    return { tickers: this.marketData.view({ exchangeId, symbol }) };
  }
}
