/** Test helper: the same Bundle-to-PatientData split the fixtures use (src/fixtures/bundle-split.ts). */
export { bundleToPatientData } from '../../../src/fixtures/bundle-split.js';
