#!/usr/bin/env node
import '../dist/cli/tsnet.js';
