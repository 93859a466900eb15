import type { DemoManifest } from '../types.ts';

export interface GenerateOptions {
  residents: number;
  seed: string;
  asOf: string;
}

/** `generateDemoCounty` of `src/demo/generate.ts`: writes `manifest.json`, the message files and `ground-truth/`. */
export type GenerateDemoCounty = (opts: GenerateOptions, outDir: string) => Promise<DemoManifest>;

/**
 * The generator, loaded when first needed: `npm start` with the county already loaded (or with
 * HIE_DEMO_COUNTY=off) and `hie demo send` never pay for importing it.
 */
export async function loadGenerator(): Promise<GenerateDemoCounty> {
  const { generateDemoCounty } = await import('../generate.ts');
  return generateDemoCounty;
}
