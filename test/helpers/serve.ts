import { startSigningServer, type SigningServer, type SigningServerOptions } from '../../src/server';

/** The signing service for a test: the node folder's config, any free port, a token, no log. */
export function startQuietServer(
  configPath: string,
  token: string,
  options: Partial<SigningServerOptions> = {},
): Promise<SigningServer> {
  return startSigningServer({ config: configPath, port: 0, token, log: false, ...options });
}
