import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    try:
        my_flow = this.flow('my_other_flow_name')
    except flow_api.DependencyFailedError:
        this.log('my_other_flow_name failed')
    else:
        this.log('my_other_flow_name succeeded')
    return this.success('all done')
