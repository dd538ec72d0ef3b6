// Loaded before each test file: makes the ESM instances of Nest available to
// the CommonJS bridge (see jest-resolver.cjs).
import 'reflect-metadata';
import * as common from '@nestjs/common';
import * as core from '@nestjs/core';

(globalThis as { __esmBridge?: Record<string, unknown> }).__esmBridge = {
  '@nestjs/common': common,
  '@nestjs/core': core,
};
