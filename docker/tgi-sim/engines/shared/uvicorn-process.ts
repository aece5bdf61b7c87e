import type { Server } from 'node:http';
import { listen } from './fastapi-server.ts';

/**
 * A Python engine's server process as uvicorn runs it (vLLM and SGLang both): SIGTERM or SIGINT while
 * the model loads exits at once; once serving, uvicorn's start-up and shutdown lines, in its words.
 */
export class UvicornProcess {
  private stop: (() => void) | undefined = () => process.exit(0);

  constructor(private readonly log: (line: string) => void) {
    const onSignal = () => {
      const now = this.stop;
      this.stop = undefined;
      now?.();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  async serve(server: Server, port: number, host: string): Promise<void> {
    this.log(`Started server process [${process.pid}]`);
    this.log('Waiting for application startup.');
    await listen(server, port, host);
    this.log('Application startup complete.');
    this.stop = () => {
      this.log('Shutting down');
      server.close();
      server.closeAllConnections();
      this.log('Waiting for application shutdown.');
      this.log('Application shutdown complete.');
      this.log(`Finished server process [${process.pid}]`);
      process.exit(0);
    };
  }
}
