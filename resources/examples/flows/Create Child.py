import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    my_flow = this.flow('my_other_flow_name')
    return this.success('all done')
