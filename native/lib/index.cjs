'use strict';
const path = require('node:path');
exports.SHIM_ABI_VERSION = 1;
exports.libraryPath = () => path.join(__dirname, '..', 'build', 'libshmkit.so');
