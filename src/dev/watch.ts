// The file watcher behind `--reload` and `cask dev`: which files, and when to say they changed.
//
//   worker FILES frames ──addFiles()──▶ module files, and their folders (depth 0)  ─┐
//   --reload-include globs ───────────▶ the tree under `chdir`, filtered            ─┼─▶ debounce ─▶ onChange
//   --reload-exclude globs, NEVER_WATCHED ─ removed from both                         ─┘   (delayMs)
//
// chokidar does the watching (inotify on Linux, FSEvents on macOS): nothing polls, so an idle
// tree costs no CPU (docs/development.md has the measurement with 10,000 files). Module files
// are watched through their folders as well as by name, so that a file an editor deletes and
// writes anew ("safe write") is still seen; a file replaced by a rename keeps being watched
// because chokidar follows the new inode.

import { dirname, isAbsolute, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';

/** Folders never watched, wherever they are: tools' caches, environments, logs. */
export const NEVER_WATCHED: ReadonlySet<string> = new Set([
  '.git',
  '.hg',
  '.svn',
  '.venv',
  'venv',
  'node_modules',
  '__pycache__',
  '.tox',
  '.nox',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  'log',
  'logs',
]);

export interface WatchOptions {
  /** The project folder (`chdir`): globs are relative to it. */
  readonly root: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Quiet time before onChange fires, in milliseconds. */
  readonly delayMs: number;
  onChange(paths: string[]): void;
  /** The watcher has looked at its first files (for the log). */
  onReady?(files: number): void;
  onError?(error: Error): void;
}

type Matcher = (path: string) => boolean;

/** One matcher for several globs; a glob without `/` matches a file name in any folder. */
export function globMatcher(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  const match = picomatch([...globs], { dot: true, basename: false });
  const bare = globs.filter((g) => !g.includes('/'));
  const byName = bare.length === 0 ? undefined : picomatch(bare, { dot: true });
  return (path) => {
    if (match(path)) return true;
    if (byName === undefined) return false;
    const slash = path.lastIndexOf('/');
    return byName(slash === -1 ? path : path.slice(slash + 1));
  };
}

export class SourceWatcher {
  private readonly files = new Set<string>();
  private readonly folders = new Set<string>();
  private readonly included: Matcher;
  private readonly excluded: Matcher;
  private modules: FSWatcher | undefined;
  private tree: FSWatcher | undefined;
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: WatchOptions) {
    this.included = globMatcher(options.include);
    this.excluded = globMatcher(options.exclude);
    if (options.include.length > 0) this.watchTree();
  }

  /** How many module files are watched. */
  get count(): number {
    return this.files.size;
  }

  /** The path as the globs see it: relative to the root, with `/`; absolute outside it. */
  private local(path: string): string {
    const rel = relative(this.options.root, path);
    const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    return (inside ? rel : path).split(sep).join('/');
  }

  /** Never watched: a NEVER_WATCHED folder on the way, or an excluded path. */
  private refused(path: string): boolean {
    const local = this.local(path);
    const parts = local.split('/');
    for (let i = 0; i < parts.length - 1; i++)
      if (NEVER_WATCHED.has(parts[i] as string)) return true;
    if (NEVER_WATCHED.has(parts[parts.length - 1] as string)) return true;
    return this.excluded(local);
  }

  /** Adds the files a worker reported; returns how many were new. */
  addFiles(paths: readonly string[]): number {
    if (this.closed) return 0;
    const fresh: string[] = [];
    for (const path of paths) {
      if (this.files.has(path) || this.refused(path)) continue;
      this.files.add(path);
      fresh.push(path);
      const folder = dirname(path);
      if (!this.folders.has(folder)) {
        this.folders.add(folder);
        fresh.push(folder);
      }
    }
    if (fresh.length === 0) return 0;
    if (this.modules === undefined) {
      this.modules = this.start(
        fresh,
        0,
        (path) => !(this.files.has(path) || this.folders.has(path)),
      );
      this.modules.once('ready', () => this.options.onReady?.(this.files.size));
    } else {
      this.modules.add(fresh);
    }
    return fresh.filter((p) => this.files.has(p)).length;
  }

  private watchTree(): void {
    const { root } = this.options;
    this.tree = this.start([root], undefined, (path, isDir) => {
      if (path === root) return false;
      if (this.refused(path)) return true;
      // Undecided until chokidar has the stats: a folder is always walked.
      if (isDir !== false) return false;
      return !this.included(this.local(path));
    });
  }

  private start(
    paths: string[],
    depth: number | undefined,
    ignore: (path: string, isDir: boolean | undefined) => boolean,
  ): FSWatcher {
    const watcher = watch(paths, {
      ignoreInitial: true,
      persistent: true,
      ...(depth === undefined ? {} : { depth }),
      ignored: (path, stats) => ignore(path, stats === undefined ? undefined : stats.isDirectory()),
    });
    const touched = (path: string): void => this.touched(path);
    watcher.on('change', touched).on('add', touched).on('unlink', touched);
    watcher.on('error', (error) => this.options.onError?.(error as Error));
    return watcher;
  }

  private touched(path: string): void {
    if (this.closed) return;
    this.changed.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const paths = [...this.changed].sort();
      this.changed.clear();
      this.options.onChange(paths);
    }, this.options.delayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([this.modules?.close(), this.tree?.close()]);
  }
}
