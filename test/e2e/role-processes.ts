/** Mosaic's roles as child processes on the real engines, for multi-process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_TOKEN, WRITE_KEY, tempDir } from '../helpers.js';
import { NATS_URL } from '../services.js';

const CLI = join(import.meta.dirname, '../../src/cli/main.js');

export interface RoleProcess {
  child: ChildProcess;
  url: string;
  /** Its log file (pino lines). */
  log: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export class RoleProcesses {
  readonly children: ChildProcess[] = [];
  private readonly logs: string[] = [];
  private readonly dirs: { cleanup: () => void }[] = [];
  private nextPort = 21000 + Math.floor(Math.random() * 4000);

  constructor(
    /** Where log files go. */
    private readonly dir: string,
    private readonly configFile: string,
    private readonly postgresUrl: string,
  ) {}

  /** One role in a process of its own, with its own data dir, on NATS and PostgreSQL. */
  start(role: 'collect' | 'process' | 'serve'): RoleProcess {
    const d = tempDir();
    this.dirs.push(d);
    const port = this.nextPort++;
    const log = join(this.dir, `${role}-${port}.log`);
    const out = openSync(log, 'w');
    this.logs.push(log);
    const child = spawn(process.execPath, [CLI, '--config', this.configFile, role], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MOSAIC_DATA_DIR: d.dir, MOSAIC_LOG: NATS_URL, MOSAIC_STORE: this.postgresUrl, MOSAIC_WRITE_KEY: WRITE_KEY, MOSAIC_API_TOKEN: API_TOKEN, MOSAIC_LOG_LEVEL: 'info' },
      stdio: ['ignore', out, out],
    });
    this.children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, url: `http://127.0.0.1:${port}`, log, exited };
  }

  /** Waits until /health answers 200. */
  async ready(url: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${url}/health`)).ok) return;
      } catch {
        /* starting */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} did not start\n${this.tails()}`);
  }

  /** The last lines of every process's log, for a failure message. */
  tails(): string {
    return this.logs.map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
  }

  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of this.dirs) d.cleanup();
  }
}
