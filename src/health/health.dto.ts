import { ApiProperty } from '@nestjs/swagger';

export class RootDto {
  @ApiProperty({ example: 'alive' }) status: 'alive';
  @ApiProperty({ example: 'ultrai-core' }) service: string;
  @ApiProperty({ example: '0.1.0' }) version: string;
  @ApiProperty({ example: '/docs' }) docs: string;
}

export class LivenessDto {
  @ApiProperty({ example: 'ok' }) status: 'ok';
  @ApiProperty({ example: ['api', 'database'], description: 'Parts of this service (not probed here).' })
  services: string[];
  @ApiProperty({ example: '0.1.0' }) version: string;
  @ApiProperty({ example: 12.5, description: 'Seconds since the process started.' }) uptime: number;
}

export class DatabaseHealthDto {
  @ApiProperty({ enum: ['ok', 'error'] }) status: 'ok' | 'error';
  @ApiProperty({ enum: ['connected', 'connection_failed'] }) database: 'connected' | 'connection_failed';
}

export class CacheHealthDto {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status: 'ok' | 'degraded';
  @ApiProperty({ enum: ['redis', 'memory'] }) cache: 'redis' | 'memory';
  @ApiProperty({ description: 'Redis connected (false in memory mode).' }) connected: boolean;
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error', 'degraded'] }) status: string;
  @ApiProperty({ example: { database: { status: 'up' } } }) info: Record<string, unknown>;
  @ApiProperty({ example: {} }) error: Record<string, unknown>;
  @ApiProperty({ example: { database: { status: 'up' } } }) details: Record<string, unknown>;
}
