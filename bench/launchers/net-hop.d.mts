// Types of net-hop.mjs, for the tests that import it.
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';

export declare const FRAME_HEADER: number;
export declare const ANSWER_SIZE: number;
export declare function splitHeads(
  pending: string,
  chunk: Buffer,
): { heads: string[]; close: boolean; rest: string; tail: number };
export declare function encodeFrame(id: number, head: string): Buffer;
export declare function readAnswers(
  pending: Buffer,
  chunk: Buffer,
): { ids: number[]; rest: Buffer };
export declare function startHop(
  python: string,
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
): { server: net.Server; child: ChildProcess; stop(): void };
