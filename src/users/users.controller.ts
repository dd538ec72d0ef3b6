import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, type Principal, Roles } from '../common/principal.js';
import { AuthRateLimit } from '../rate-limit/rate-limit.guard.js';
import { CachedRead } from '../cache/cached-read.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import {
  AdminUpdateUserDto,
  ChangePasswordDto,
  DeleteAccountDto,
  UpdateMeDto,
  UserDto,
  UserListQueryDto,
  UserPageDto,
} from './dto/user.dto.js';
import { UsersService } from './users.service.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { RequireScope } from '../auth/scopes.decorator.js';

@ApiTags('Users')
@ApiBearerAuth('bearer')
@Controller('users')
@SmallBody()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @CachedRead()
  @RequireScope('profile:read')
  @ApiOperation({ summary: 'Your profile (cached: X-Cache)' })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(401)
  me(@CurrentUser() principal: Principal): Promise<UserDto> {
    return this.users.me(principal);
  }

  @Patch('me')
  @RequireScope('profile:write')
  @ApiOperation({ summary: 'Change your username (unique ignoring case: 409 when taken)' })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 401, 409)
  updateMe(@CurrentUser() principal: Principal, @Body() body: UpdateMeDto): Promise<UserDto> {
    return this.users.updateMe(principal, body.username);
  }

  @Put('me/password')
  @AuthRateLimit('change-password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Change your password; every other session is revoked' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 429)
  changePassword(@CurrentUser() principal: Principal, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(principal, body.currentPassword, body.newPassword);
  }

  @Delete('me')
  @AuthRateLimit('delete-account')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete your account, its sessions and its documents' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 429)
  deleteMe(@CurrentUser() principal: Principal, @Body() body: DeleteAccountDto): Promise<void> {
    return this.users.deleteMe(principal, body.password);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'List users (admin)' })
  @ApiOkResponse({ type: UserPageDto })
  @ApiProblems(400, 401, 403)
  list(@Query() query: UserListQueryDto): Promise<UserPageDto> {
    return this.users.list(query);
  }

  @Get(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'One user (admin)' })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 401, 403, 404)
  get(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<UserDto> {
    return this.users.get(principal, id);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Change a user’s role or disable them (admin)' })
  @ApiOkResponse({ type: UserDto })
  @ApiProblems(400, 401, 403, 404)
  update(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Body() body: AdminUpdateUserDto,
  ): Promise<UserDto> {
    return this.users.adminUpdate(principal, id, body);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a user (admin)' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
  remove(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<void> {
    return this.users.adminDelete(principal, id);
  }
}
