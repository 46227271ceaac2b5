/** The state store cannot be used (bad URL, credentials, unreachable, newer schema): exit 2, nothing ran. */
export class StateStoreError extends Error {
  override readonly name = 'StateStoreError';
}
