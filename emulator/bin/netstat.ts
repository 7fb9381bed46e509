import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { netstatMain } from '../src/netstat';

runTool('netstat', withUsage(netstatMain));
