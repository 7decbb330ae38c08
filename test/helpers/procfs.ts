// Reading a process's /proc stat line (Linux), for the tests that check what the kernel says
// of a process: whether it has exited, under which scheduling policy it runs.

/**
 * The fields of a /proc stat line from the third on (`state` first), so that field N of
 * proc(5) is at index N - 3. The command name (field 2) may hold spaces and parentheses, so
 * the fields are counted after its last closing parenthesis.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The scheduling policy in a /proc stat line: field 41 (3 is SCHED_BATCH). */
export function policyOf(stat: string): number {
  return Number(statFields(stat)[41 - 3]);
}
