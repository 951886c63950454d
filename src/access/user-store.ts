import { checkPassword, hashPassword } from "./password.js";

export interface User {
  name: string;
  passwordHash: string;
  tags: string[];
}

/** The users the broker knows. */
export class UserStore {
  private readonly users = new Map<string, User>();

  add(name: string, password: string, tags: string[] = []): User {
    const user: User = { name, passwordHash: hashPassword(password), tags };
    this.users.set(name, user);
    return user;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  /** The user, when the name exists and the password matches. */
  authenticate(name: string, password: string): User | undefined {
    const user = this.users.get(name);
    return user !== undefined && checkPassword(password, user.passwordHash) ? user : undefined;
  }
}
