// Types of raw-net.mjs, for the unit tests that import its pure parts.
import type net from 'node:net';

export declare const BODY: string;
export declare const RESPONSE: Buffer;
export declare const CLOSING_RESPONSE: Buffer;
export declare const MAX_HEAD: number;
export declare function asksToClose(head: string): boolean;
export declare function scanHeads(
  pending: string,
  chunk: Buffer,
): { heads: number; close: boolean; rest: string; tail: number };
export declare function answersFor(heads: number, close: boolean): Buffer;
export declare function closeWith(socket: net.Socket, answer: Buffer, quiet: boolean): void;
export declare function createServer(): net.Server;
