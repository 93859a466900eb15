export {
  createDemoLoad,
  demoLoadWanted,
  DEMO_SEED,
  type DemoLoad,
  type DemoLoadOptions,
  type DemoLoadProgress,
} from './demo-load.ts';
export {
  readDemoState,
  writeDemoState,
  countyDir,
  stateFile,
  todayInChina,
  type DemoLoadState,
} from './state.ts';
export { loadGenerator, type GenerateDemoCounty, type GenerateOptions } from './generator.ts';
export { sqlArchiveCounts, type CountArchive } from './archive-query.ts';
