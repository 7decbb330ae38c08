// Hostile clients for the attack tests: many raw loopback connections that each do one slow
// or greedy thing, bounded in count and time, plus the front's RSS and a fast client to show
// service goes on. Every socket is destroyed by `stop()` (call it from `t.after`).

import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { get } from './http.js';
import { until as poll } from './load.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process, in bytes (from /proc/<pid>/status). */
export function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024;
}

export interface Attacker {
  socket: Socket;
  /** Everything the server sent. */
  received(): Buffer;
  /** Set when the server closed or reset the connection. */
  closedAt: number | undefined;
}

export interface Horde {
  attackers: Attacker[];
  /** Attackers whose connection the server has closed. */
  closed(): number;
  /** Runs `step` on every open attacker every `ms` until stop(). */
  every(ms: number, step: (a: Attacker) => void): void;
  stop(): void;
}

/** Opens `n` connections (a few at a time, so the listen backlog never overflows). */
export async function horde(
  port: number,
  n: number,
  onOpen?: (a: Attacker) => void,
): Promise<Horde> {
  const attackers: Attacker[] = [];
  const timers: NodeJS.Timeout[] = [];
  const open = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      const chunks: Buffer[] = [];
      const attacker: Attacker = {
        socket,
        received: () => Buffer.concat(chunks),
        closedAt: undefined,
      };
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      socket.on('close', () => {
        attacker.closedAt ??= Date.now();
        resolve();
      });
      socket.on('connect', () => {
        onOpen?.(attacker);
        resolve();
      });
      attackers.push(attacker);
    });
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, open));
  }
  return {
    attackers,
    closed: () => attackers.filter((a) => a.closedAt !== undefined).length,
    every(ms, step) {
      timers.push(
        setInterval(() => {
          for (const a of attackers) if (a.closedAt === undefined && !a.socket.destroyed) step(a);
        }, ms),
      );
    },
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const a of attackers) a.socket.destroy();
    },
  };
}

/** `n` sequential requests on fresh connections, as a well-behaved client makes them. */
export async function fastClient(port: number, n: number, path = '/ok'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await get(port, path, {}, { ms: 5000 })).status);
  return statuses;
}

/** Waits until `done()` holds or `ms` passes; whether it held. */
export function until(done: () => boolean, ms: number): Promise<boolean> {
  return poll(done, ms, 'condition', 20).then(
    () => true,
    () => false,
  );
}
