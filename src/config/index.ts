// Public entry of src/config. Everything else in this folder is private to it.

export { loadConfig, loadConfigWithNotes, type LoadOptions, type LoadResult } from './load.js';
export type { Note } from './foreign.js';
export { parseBind, formatBind, type BindAddress } from './parse.js';
export { SETTINGS, SETTING_KEYS, PACKAGE_ROOT, type Config, type SettingKey } from './schema.js';
export { renderServeHelp, renderConfigToml } from './help.js';
export { wantsHelp } from './argv.js';
export { SECTIONS, type Section, type AnySetting } from './types.js';
export { closest } from './suggest.js';
