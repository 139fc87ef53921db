import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    # Set the input should_fail=true to see how a parent handles a failed child.
    if inputs.get('should_fail'):
        raise RuntimeError('failing on purpose, as asked by the input should_fail')
    this.log('my_other_flow_name did its work')
    return this.success('all done')
