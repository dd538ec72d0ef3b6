import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Length, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { Public } from '../../src/common/public.decorator.js';

class ProbeItem {
  @IsString() @Length(1, 10) label: string;
}

class ProbeBody {
  @IsString() @Length(1, 10) name: string;
  @IsInt() @Min(0) count: number;
  @ValidateNested({ each: true }) @Type(() => ProbeItem) items: ProbeItem[];
}

/** Routes that exist only in tests, to reach the error paths the real routes keep rare. */
@Public()
@Controller('__probe')
class ProbeController {
  @Post('echo')
  echo(@Body() body: ProbeBody): ProbeBody {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new TypeError('relation "secret_table" does not exist (PostgresQueryRunner.query)');
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
