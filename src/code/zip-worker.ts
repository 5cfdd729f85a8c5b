import { parentPort } from 'node:worker_threads';
import { runZipJob, type ZipJob } from './zip-jobs.js';

// A zip worker thread (see ZipWorkers): one job at a time, as the pool hands them out.
const port = parentPort;
if (!port) throw new Error('zip-worker.js runs as a worker thread of ZipWorkers');
port.on('message', (job: ZipJob) => {
  void runZipJob(job).then(({ reply, transfer }) => {
    port.postMessage(reply, transfer);
  });
});
