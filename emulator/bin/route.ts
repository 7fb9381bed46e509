import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { routeMain } from '../src/route';

runTool('route', withUsage(routeMain));
