/**
 * Worker thread of `runReplay --workers N`: replays the patient files it is given and posts back
 * their results (compiled to dist/src/replay/replay-worker.js; the workers run the built code).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readLines, replayOptions, replayPatientFile, type WorkerRequest } from './run-replay.js';

const request = workerData as WorkerRequest;
const options = replayOptions(request.settings);
const shared = readLines(request.sharedPath);
parentPort?.postMessage(request.files.map((f) => replayPatientFile(f, shared, options)));
