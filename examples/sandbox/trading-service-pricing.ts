/**
 * The simulated external pricing dependency. A switch makes it fail, standing in for the outage of
 * the DR guide's Scenario 3; prices are a pure function of the symbol so tests can assert them.
 */

export class SimulatedPricing {
  failing = false;
  calls = 0;
  /** Added to every call, so a drill can see timeouts and overlapping half-open trials. */
  latencyMs = 0;

  async quote(symbol: string): Promise<number> {
    this.calls++;
    // Settle on a later turn at least, like a network call.
    await new Promise((resolve) => (this.latencyMs > 0 ? setTimeout(resolve, this.latencyMs) : setImmediate(resolve)));
    if (this.failing) throw new Error('externalPricing unavailable (simulated outage)');
    return priceOf(symbol);
  }
}

/** 10.00–1009.99, from the symbol's characters. */
export function priceOf(symbol: string): number {
  let h = 0;
  for (const ch of symbol) h = (h * 31 + ch.charCodeAt(0)) % 100_000;
  return (1000 + h) / 100;
}
