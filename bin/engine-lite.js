#!/usr/bin/env node
import '../dist/engine-lite/cli.js';
