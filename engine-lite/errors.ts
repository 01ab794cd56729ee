/**
 * @module The errors engine-lite reports to its user. Each has a stable `code` and the exit status
 * the CLI uses, following docker: 125 for a failed `run` before the command ran, 126/127 when the
 * command cannot run or is not found, 1 for other commands.
 */

/** Something engine-lite refuses or could not do; the message is meant for the user as it is. */
export class EngineError extends Error {
  readonly code: string = 'ERR_ENGINE';
  override readonly name: string = 'EngineError';
}

/** Bad input: a flag, a `-v` spec, a name. Nothing was created. */
export class InvalidArgumentError extends EngineError {
  override readonly code = 'ERR_INVALID_ARGUMENT';
  override readonly name = 'InvalidArgumentError';
}

/** No container, image, network, volume or plugin of that name. */
export class EngineNotFoundError extends EngineError {
  override readonly code = 'ERR_ENGINE_NOT_FOUND';
  override readonly name = 'EngineNotFoundError';
}

/** The object is in use or a name is taken. */
export class EngineConflictError extends EngineError {
  override readonly code = 'ERR_ENGINE_CONFLICT';
  override readonly name = 'EngineConflictError';
}

/** A plugin failed, refused, or did not answer; `plugin` names it. */
export class PluginFailedError extends EngineError {
  override readonly code = 'ERR_ENGINE_PLUGIN_FAILED';
  override readonly name = 'PluginFailedError';
  readonly plugin: string;

  constructor(plugin: string, message: string, options?: { cause?: unknown }) {
    super(`plugin "${plugin}": ${message}`, options);
    this.plugin = plugin;
  }

  /**
   * Whether the plugin answered with an error (a status code came back), so it did nothing, as
   * opposed to a timeout or a broken connection, after which it may have acted.
   */
  get refused(): boolean {
    return typeof (this.cause as { status?: unknown } | undefined)?.status === 'number';
  }
}

/** The container's command could not be started; `exitCode` is docker's (126 cannot run, 127 not found). */
export class CommandStartError extends EngineError {
  override readonly code = 'ERR_COMMAND_START';
  override readonly name = 'CommandStartError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}
