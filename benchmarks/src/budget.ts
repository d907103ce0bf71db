// Quick-mode time budget (§5.6 step 8): a cell is skipped when elapsed + its estimate exceeds the budget.
export class Budget {
  readonly #limitMs: number | null;
  readonly #now: () => number;
  readonly #start: number;
  readonly #last = new Map<string, number>();
  constructor(limitMs: number | null, now: () => number, readonly defaultEstimateMs = 2_000) {
    this.#limitMs = limitMs; this.#now = now; this.#start = now();
  }
  /** Estimate: the previous cell of the same key (pattern), else 2 s. */
  allows(key: string): boolean {
    if (this.#limitMs === null) return true;
    return this.#now() - this.#start + (this.#last.get(key) ?? this.defaultEstimateMs) <= this.#limitMs;
  }
  record(key: string, ms: number): void { this.#last.set(key, ms); }
}
