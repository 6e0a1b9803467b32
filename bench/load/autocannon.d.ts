/**
 * The part of autocannon 9's API that the load worker uses; the package
 * ships no types.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
    }

    interface RequestSpec {
      setupRequest?: (request: Request, context: object) => Request;
    }

    interface Options {
      url: string;
      method?: string;
      connections?: number;
      overallRate?: number;
      duration?: number;
      timeout?: number;
      headers?: Record<string, string>;
      requests?: RequestSpec[];
      setupClient?: (client: EventEmitter) => void;
    }

    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
    }
  }

  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
