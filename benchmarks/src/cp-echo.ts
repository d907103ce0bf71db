// Echo side of the `cp-ipc` baseline: started by its measuring role with child_process (advanced serialization).
process.on('message', (m) => { process.send!(m); });
process.on('disconnect', () => process.exit(0));
