import { Module } from '@nestjs/common';
import { DEV_DIRECTORY, devDirectoryProvider } from './dev-directory.provider.js';

@Module({ providers: [devDirectoryProvider], exports: [DEV_DIRECTORY] })
export class DevDirectoryModule {}
