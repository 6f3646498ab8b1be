/** A refusal the magistrate can act on: `key` names a sentence of the page (#seal-messages). */
export class SealError extends Error {
  constructor(key, params = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}
