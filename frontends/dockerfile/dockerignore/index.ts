export { parseIgnoreFile } from './ignore-file.js';
export {
  type IgnoreFileReader,
  ignoreFileCandidates,
  loadIgnorePatterns,
  type SelectedIgnoreFile,
} from './select-ignore-file.js';
