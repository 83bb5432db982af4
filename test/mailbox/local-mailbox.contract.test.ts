import { describeMailboxContract } from './mailbox.contract.ts';
import { localMailboxDriver } from './local-mailbox-driver.ts';

describeMailboxContract('local folder', () => localMailboxDriver());
