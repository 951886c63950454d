import { accessError } from "./errors.js";
import type { AccessJournal } from "./journal.js";
import { checkPassword, DEFAULT_HASHING_ALGORITHM, hashPassword, type HashingAlgorithm } from "./password.js";

/** A user of the internal database, as RabbitMQ keeps one (and exports it in definitions). */
export interface User {
  readonly name: string;
  /** base64(salt + H(salt + password)); "" when the password was cleared (no password login). */
  readonly passwordHash: string;
  readonly hashingAlgorithm: HashingAlgorithm;
  /** administrator, monitoring, management, policymaker, or any other string. */
  readonly tags: readonly string[];
}

/**
 * The users the broker knows. Users are immutable records: a change replaces the record, so a
 * connection holding the old one sees a consistent user. Every change goes to the journal.
 */
export class UserStore {
  private readonly users = new Map<string, User>();

  constructor(private readonly journal?: AccessJournal) {}

  get size(): number {
    return this.users.size;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  list(): User[] {
    return [...this.users.values()];
  }

  /** add_user: a new user with a freshly salted hash; refuses an existing name. */
  create(name: string, password: string, tags: readonly string[] = []): User {
    if (this.users.has(name)) throw accessError.userExists(name);
    return this.put({ name, passwordHash: hashPassword(password), hashingAlgorithm: DEFAULT_HASHING_ALGORITHM, tags: [...tags] });
  }

  /** Create or replace a user record as given (definitions import, recovery). */
  put(user: User): User {
    this.users.set(user.name, user);
    this.journal?.userPut(user);
    return user;
  }

  delete(name: string): User {
    const user = this.require(name);
    this.users.delete(name);
    this.journal?.userDeleted(name);
    return user;
  }

  changePassword(name: string, password: string): User {
    const user = this.require(name);
    return this.put({ ...user, passwordHash: hashPassword(password), hashingAlgorithm: DEFAULT_HASHING_ALGORITHM });
  }

  /** clear_password: the user can no longer log in with a password. */
  clearPassword(name: string): User {
    return this.put({ ...this.require(name), passwordHash: "" });
  }

  setTags(name: string, tags: readonly string[]): User {
    return this.put({ ...this.require(name), tags: [...tags] });
  }

  /**
   * The user, when the name exists and the password matches. A blank password is always refused
   * (RabbitMQ's internal backend does the same).
   */
  authenticate(name: string, password: string): User | undefined {
    if (password === "") return undefined;
    const user = this.users.get(name);
    return user !== undefined && checkPassword(password, user.passwordHash, user.hashingAlgorithm) ? user : undefined;
  }

  private require(name: string): User {
    const user = this.users.get(name);
    if (user === undefined) throw accessError.noSuchUser(name);
    return user;
  }
}
