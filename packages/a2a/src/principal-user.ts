import type { User } from '@a2a-js/sdk/server';

/**
 * The SDK's `User` for an authenticated caller known by its principal (the token hash `bearerAuth`
 * sets). Task stores scope tasks by `userName`.
 */
export class PrincipalUser implements User {
  constructor(private readonly principal: string) {}

  get isAuthenticated(): boolean {
    return true;
  }

  get userName(): string {
    return this.principal;
  }
}
