/**
 * The built-in code lists: every FHIR ValueSet of the top-level `valuesets/` folder, imported as
 * JSON (no file is read here, so the pure core stays runnable in a browser), with its file name
 * for start-up errors. src/config/value-sets.ts validates them at start; a test checks that every
 * file of the folder is listed here.
 */
import anticytokineAgents from '../../../valuesets/anticytokine-agents.json' with { type: 'json' };
import antimicrobialsNonSystemic from '../../../valuesets/antimicrobials-non-systemic.json' with { type: 'json' };
import antimicrobialsProphylaxis from '../../../valuesets/antimicrobials-prophylaxis.json' with { type: 'json' };
import antimicrobialsSurgicalProphylaxis from '../../../valuesets/antimicrobials-surgical-prophylaxis.json' with { type: 'json' };
import antimicrobialsSystemicOnlyIv from '../../../valuesets/antimicrobials-systemic-only-iv.json' with { type: 'json' };
import antimicrobialsTreatment from '../../../valuesets/antimicrobials-treatment.json' with { type: 'json' };
import antipyretics from '../../../valuesets/antipyretics.json' with { type: 'json' };
import bispecificAntibodies from '../../../valuesets/bispecific-antibodies.json' with { type: 'json' };
import bloodPressurePanels from '../../../valuesets/blood-pressure-panels.json' with { type: 'json' };
import bodyFluidCultures from '../../../valuesets/body-fluid-cultures.json' with { type: 'json' };
import carTHistoryDiagnoses from '../../../valuesets/car-t-history-diagnoses.json' with { type: 'json' };
import carTProducts from '../../../valuesets/car-t-products.json' with { type: 'json' };
import corticosteroids from '../../../valuesets/corticosteroids.json' with { type: 'json' };
import crsDiagnoses from '../../../valuesets/crs-diagnoses.json' with { type: 'json' };
import enteralRoutes from '../../../valuesets/enteral-routes.json' with { type: 'json' };
import immuneEffectorCellTherapyComplications from '../../../valuesets/immune-effector-cell-therapy-complications.json' with { type: 'json' };
import inotropes from '../../../valuesets/inotropes.json' with { type: 'json' };
import intravenousRoutes from '../../../valuesets/intravenous-routes.json' with { type: 'json' };
import localRoutes from '../../../valuesets/local-routes.json' with { type: 'json' };
import surfaceRoutes from '../../../valuesets/surface-routes.json' with { type: 'json' };
import observationsBodyWeight from '../../../valuesets/observations-body-weight.json' with { type: 'json' };
import observationsCrp from '../../../valuesets/observations-crp.json' with { type: 'json' };
import observationsDiastolicBp from '../../../valuesets/observations-diastolic-bp.json' with { type: 'json' };
import observationsFerritin from '../../../valuesets/observations-ferritin.json' with { type: 'json' };
import observationsFio2 from '../../../valuesets/observations-fio2.json' with { type: 'json' };
import observationsGcsTotal from '../../../valuesets/observations-gcs-total.json' with { type: 'json' };
import observationsHeartRate from '../../../valuesets/observations-heart-rate.json' with { type: 'json' };
import observationsIl6 from '../../../valuesets/observations-il-6.json' with { type: 'json' };
import observationsLactate from '../../../valuesets/observations-lactate.json' with { type: 'json' };
import observationsMeanArterialPressure from '../../../valuesets/observations-mean-arterial-pressure.json' with { type: 'json' };
import observationsOxygenFlow from '../../../valuesets/observations-oxygen-flow.json' with { type: 'json' };
import observationsRespiratoryRate from '../../../valuesets/observations-respiratory-rate.json' with { type: 'json' };
import observationsSpo2 from '../../../valuesets/observations-spo2.json' with { type: 'json' };
import observationsSystolicBp from '../../../valuesets/observations-systolic-bp.json' with { type: 'json' };
import observationsTemperature from '../../../valuesets/observations-temperature.json' with { type: 'json' };
import observationsWbc from '../../../valuesets/observations-wbc.json' with { type: 'json' };
import oxygenDeliveryObservations from '../../../valuesets/oxygen-delivery-observations.json' with { type: 'json' };
import oxygenDevicesHighFlow from '../../../valuesets/oxygen-devices-high-flow.json' with { type: 'json' };
import oxygenDevicesLowFlow from '../../../valuesets/oxygen-devices-low-flow.json' with { type: 'json' };
import oxygenDevicesNoSupport from '../../../valuesets/oxygen-devices-no-support.json' with { type: 'json' };
import oxygenDevicesPositivePressure from '../../../valuesets/oxygen-devices-positive-pressure.json' with { type: 'json' };
import sepsisDiagnoses from '../../../valuesets/sepsis-diagnoses.json' with { type: 'json' };
import tocilizumab from '../../../valuesets/tocilizumab.json' with { type: 'json' };
import vasopressinAnalogues from '../../../valuesets/vasopressin-analogues.json' with { type: 'json' };
import vasopressorsInotropic from '../../../valuesets/vasopressors-inotropic.json' with { type: 'json' };
import crsLabelsWithoutTocilizumab from '../../../valuesets/crs-labels-without-tocilizumab.json' with { type: 'json' };
import vasopressors from '../../../valuesets/vasopressors.json' with { type: 'json' };
import { buildCodeIndex, type CodeIndex } from './code-index.js';
import type { ValueSet } from './value-set.js';

/** File name (in `valuesets/`) and the parsed JSON, not yet validated. */
export const BUILT_IN_VALUE_SET_FILES: readonly { file: string; json: unknown }[] = [
  { file: 'anticytokine-agents.json', json: anticytokineAgents },
  { file: 'antimicrobials-non-systemic.json', json: antimicrobialsNonSystemic },
  { file: 'antimicrobials-prophylaxis.json', json: antimicrobialsProphylaxis },
  { file: 'antimicrobials-surgical-prophylaxis.json', json: antimicrobialsSurgicalProphylaxis },
  { file: 'antimicrobials-systemic-only-iv.json', json: antimicrobialsSystemicOnlyIv },
  { file: 'antimicrobials-treatment.json', json: antimicrobialsTreatment },
  { file: 'antipyretics.json', json: antipyretics },
  { file: 'bispecific-antibodies.json', json: bispecificAntibodies },
  { file: 'blood-pressure-panels.json', json: bloodPressurePanels },
  { file: 'body-fluid-cultures.json', json: bodyFluidCultures },
  { file: 'car-t-history-diagnoses.json', json: carTHistoryDiagnoses },
  { file: 'car-t-products.json', json: carTProducts },
  { file: 'corticosteroids.json', json: corticosteroids },
  { file: 'crs-diagnoses.json', json: crsDiagnoses },
  { file: 'enteral-routes.json', json: enteralRoutes },
  { file: 'immune-effector-cell-therapy-complications.json', json: immuneEffectorCellTherapyComplications },
  { file: 'inotropes.json', json: inotropes },
  { file: 'intravenous-routes.json', json: intravenousRoutes },
  { file: 'local-routes.json', json: localRoutes },
  { file: 'observations-body-weight.json', json: observationsBodyWeight },
  { file: 'observations-crp.json', json: observationsCrp },
  { file: 'observations-diastolic-bp.json', json: observationsDiastolicBp },
  { file: 'observations-ferritin.json', json: observationsFerritin },
  { file: 'observations-fio2.json', json: observationsFio2 },
  { file: 'observations-gcs-total.json', json: observationsGcsTotal },
  { file: 'observations-heart-rate.json', json: observationsHeartRate },
  { file: 'observations-il-6.json', json: observationsIl6 },
  { file: 'observations-lactate.json', json: observationsLactate },
  { file: 'observations-mean-arterial-pressure.json', json: observationsMeanArterialPressure },
  { file: 'observations-oxygen-flow.json', json: observationsOxygenFlow },
  { file: 'observations-respiratory-rate.json', json: observationsRespiratoryRate },
  { file: 'observations-spo2.json', json: observationsSpo2 },
  { file: 'observations-systolic-bp.json', json: observationsSystolicBp },
  { file: 'observations-temperature.json', json: observationsTemperature },
  { file: 'observations-wbc.json', json: observationsWbc },
  { file: 'oxygen-delivery-observations.json', json: oxygenDeliveryObservations },
  { file: 'oxygen-devices-high-flow.json', json: oxygenDevicesHighFlow },
  { file: 'oxygen-devices-low-flow.json', json: oxygenDevicesLowFlow },
  { file: 'oxygen-devices-no-support.json', json: oxygenDevicesNoSupport },
  { file: 'oxygen-devices-positive-pressure.json', json: oxygenDevicesPositivePressure },
  { file: 'sepsis-diagnoses.json', json: sepsisDiagnoses },
  { file: 'surface-routes.json', json: surfaceRoutes },
  { file: 'tocilizumab.json', json: tocilizumab },
  { file: 'vasopressin-analogues.json', json: vasopressinAnalogues },
  { file: 'vasopressors-inotropic.json', json: vasopressorsInotropic },
  { file: 'crs-labels-without-tocilizumab.json', json: crsLabelsWithoutTocilizumab },
  { file: 'vasopressors.json', json: vasopressors },
];

/**
 * The index of the built-in lists. The JSON is trusted here (type-checked against ValueSet by the
 * compiler, validated by the tests and again at start by src/config/value-sets.ts).
 */
export const BUILT_IN_VALUE_SETS: readonly ValueSet[] = BUILT_IN_VALUE_SET_FILES.map(
  (f) => f.json as ValueSet,
);
export const DEFAULT_CODE_INDEX: CodeIndex = buildCodeIndex(BUILT_IN_VALUE_SETS);
