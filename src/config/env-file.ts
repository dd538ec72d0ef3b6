/**
 * Reads `.env` in the working directory into the environment, when there is one.
 * A variable already set in the real environment keeps its value. Called once, before
 * the configuration is parsed, by the server and by the CLI.
 */
export function loadEnvFile(file = '.env'): void {
  try {
    process.loadEnvFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
