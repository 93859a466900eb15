export { readManifest, manifestFiles, ManifestError } from './manifest.ts';
export {
  sendDemoDirectory,
  type SendOptions,
  type SendProgress,
  type SendReport,
  type Mismatch,
} from './sender.ts';
export { waitUntilFinal, archiveCounts, type ArchiveCounts, type WaitOptions } from './wait.ts';
export { progressPrinter } from './progress.ts';
export { TransportError, type MessageAnswer } from './channels.ts';
export {
  requestInstitutionToken,
  InstitutionTokens,
  TokenRequestError,
  type InstitutionToken,
} from './institution-token.ts';
