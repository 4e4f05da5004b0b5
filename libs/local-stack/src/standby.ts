/**
 * A warm standby of a Relay service, started by the supervisor of services.ts next to the
 * running instance: it loads the service's module graph (argv[2], its app.module) ahead of
 * time, then waits. When the running instance dies the supervisor sends it 'start', and it
 * runs the service's main (argv[3]) at once.
 *
 * Why: on a busy 2-core machine most of a service's boot is loading and compiling ~2000
 * modules (5–13 s measured), which would otherwise be paid after every crash, before the
 * stage consumes again. Holds no connection, port or file while waiting.
 */
const [preload, main] = process.argv.slice(2);
if (!preload || !main || !process.send) throw new Error('usage: node standby.ts <module to preload> <main> (spawned with an IPC channel)');

// The supervisor is gone (npm start ended): nothing will ever promote this process.
const orphaned = () => process.exit(0);
process.on('disconnect', orphaned);

void import(preload).then(() => {
  process.once('message', (message) => {
    if (message !== 'start') return;
    process.off('disconnect', orphaned);
    process.disconnect();
    void import(main);
  });
  process.send?.('loaded');
});
