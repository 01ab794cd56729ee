/**
 * @module The store layer's errors: the state store cannot be opened, or was written by a newer
 * version. Both stop `tsnet serve` before a plugin starts; the message names the store's directory.
 */

/** The LevelDB under a plugin's state directory cannot be opened (another process holds its lock, bad permissions, corruption). */
export class StoreOpenError extends Error {
  readonly code = 'ERR_STORE_OPEN';
  override readonly name = 'StoreOpenError';
}

/** The store is newer than this code: it was written by a later version. */
export class StoreTooNewError extends Error {
  readonly code = 'ERR_STORE_TOO_NEW';
  override readonly name = 'StoreTooNewError';
}
