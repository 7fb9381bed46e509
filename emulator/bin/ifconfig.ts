import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { ifconfigMain } from '../src/ifconfig/main';

runTool('ifconfig', withUsage(ifconfigMain));
